"""JupyterHub for a class taking the RNN course, following nbgrader's multi-user set-up
("one class, one grader"): every user gets a JupyterLab server with the course kernel and nbgrader's
student extensions (Assignments tab, Validate button); the instructor also gets the Formgrader; all
share one file-system exchange. See deploy/README.md for the installation steps.

    jupyterhub -f deploy/jupyterhub_config.py

Settings, all by environment variables:

COURSE_HUB_DIR          state of the hub (database, cookie secret); default /srv/rnn-course-hub
COURSE_HUB_IP/PORT      where the hub listens; default 127.0.0.1:8000 (put a TLS proxy in front);
                        PORT+1 and PORT+2 are used internally (hub, proxy API)
COURSE_INSTRUCTORS      comma-separated user names of the graders; default "instructor"
COURSE_STUDENTS         comma-separated user names allowed to log in (empty: any user PAM accepts)
COURSE_HUB_DEMO=1       a self-contained demo/smoke test on one machine: any user name logs in without
                        a password (DummyAuthenticator), all servers run as the hub's Unix user with
                        their own home folder under COURSE_HUB_DIR/home; COURSE_HUB_API_TOKEN then
                        gives a service admin rights over users and servers (for scripts and tests).
                        Never use it for a real class.

The exchange folder and the nbgrader settings every server reads are in /etc/jupyter/nbgrader_config.py
(deploy/README.md shows it); in the demo they are written under COURSE_HUB_DIR instead.
"""
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by JupyterHub

HUB_DIR = Path(os.environ.get("COURSE_HUB_DIR", "/srv/rnn-course-hub"))
HUB_DIR.mkdir(parents=True, exist_ok=True)
DEMO = os.environ.get("COURSE_HUB_DEMO") == "1"
BIN = Path(sys.executable).parent  # the course venv: jupyterhub-singleuser, nbgrader and the kernel live here
INSTRUCTORS = {u for u in os.environ.get("COURSE_INSTRUCTORS", "instructor").split(",") if u}
STUDENTS = {u for u in os.environ.get("COURSE_STUDENTS", "").split(",") if u}
COURSE_ID = "rnn-course"

c.JupyterHub.ip = os.environ.get("COURSE_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("COURSE_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = c.JupyterHub.port + 1  # internal: the hub behind the proxy
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{c.JupyterHub.port + 2}"  # internal: the proxy's API
c.JupyterHub.db_url = f"sqlite:///{HUB_DIR / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(HUB_DIR / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(HUB_DIR / "jupyterhub-proxy.pid")

c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {"OMP_NUM_THREADS": "1", "COURSE_PROGRESS": "1"}
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120

# nbgrader's documented groups: the formgrader is for the course's graders ("formgrade-<course>"),
# the course list shows the course to its students ("nbgrader-<course>")
c.JupyterHub.load_groups = {
    f"formgrade-{COURSE_ID}": {"users": sorted(INSTRUCTORS)},
    f"nbgrader-{COURSE_ID}": {"users": sorted(STUDENTS)},
}
c.Authenticator.admin_users = set(INSTRUCTORS)
if STUDENTS:
    c.Authenticator.allowed_users = INSTRUCTORS | STUDENTS
else:
    c.Authenticator.allow_all = True

if DEMO:
    from jupyterhub.spawner import SimpleLocalProcessSpawner

    c.JupyterHub.authenticator_class = "dummy"
    c.JupyterHub.spawner_class = SimpleLocalProcessSpawner
    c.SimpleLocalProcessSpawner.home_dir_template = str(HUB_DIR / "home" / "{username}")
    exchange = HUB_DIR / "exchange"
    exchange.mkdir(exist_ok=True)
    exchange.chmod(0o1777)
    (HUB_DIR / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.course_id = {COURSE_ID!r}\nc.Exchange.root = {str(exchange)!r}\n")
    c.Spawner.environment["JUPYTER_CONFIG_PATH"] = str(HUB_DIR)  # the demo's nbgrader_config.py
    if os.geteuid() == 0:
        c.Spawner.args = ["--allow-root"]  # demo servers run as the hub's user
    token = os.environ.get("COURSE_HUB_API_TOKEN")
    if token:
        c.JupyterHub.services = [{"name": "course-admin", "api_token": token}]
        c.JupyterHub.load_roles = [{"name": "course-admin", "services": ["course-admin"],
                                    "scopes": ["admin:users", "admin:servers", "access:servers", "list:users",
                                               "read:users"]}]
else:
    # real Unix users (PAM): each server runs as its user, in their home folder
    c.JupyterHub.authenticator_class = "pam"
    c.JupyterHub.spawner_class = "localprocess"
