"""The ``osc`` node: show control from OSC controllers and apps (QLC+, TouchOSC, Resolume…) over UDP."""
