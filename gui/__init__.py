"""The PySide6 admin window. The only package that imports Qt."""
