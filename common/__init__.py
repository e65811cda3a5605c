"""Small pure helpers that the agent side (``client/``) and the registry side share.

Nothing here imports the server, storage, the window, Qt, bottle or peewee: the
enrolment tool runs on a device with only the standard library and
``cryptography`` installed.
"""
