"""The built-in graphs (``mcav pipelines`` lists them; ``mcav run NAME`` runs one)."""
