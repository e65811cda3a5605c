"""The administrator's command line: a front end beside the window, over the core's facade."""
