"""bpviz desktop application (PySide6 + pyqtgraph). Reads engine records only."""
