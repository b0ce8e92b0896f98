"""Lets nbgrader (and JupyterLab's formgrader) run from the repository root too:
the real configuration is assignments/nbgrader_config.py, the course root."""
c = get_config()  # noqa: F821
load_subconfig("assignments/nbgrader_config.py")  # noqa: F821
