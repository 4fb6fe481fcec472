"""The web pages (:8080): the ``admin_http`` node, health statistics, and the static admin/preview pages."""
