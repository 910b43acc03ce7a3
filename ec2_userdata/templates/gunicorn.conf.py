# gunicorn settings for the clinic (rendered by install_clinic.sh).
# 2 vCPU instance: 3 sync workers; requests are short (photos go straight to S3).
import os

from clinic import envvars  # the app's wheel is in the venv gunicorn runs from

bind = os.environ.get(envvars.GUNICORN_BIND, "unix:@SOCKET@")
workers = int(os.environ.get(envvars.GUNICORN_WORKERS, "3"))  # "three" stops gunicorn with an error
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
# The socket gets mode 0777 minus umask: nginx (another user) must connect; /run/clinic is 0755.
umask = 0o000
accesslog = "@LOG_DIR@/gunicorn-access.log"
errorlog = "@LOG_DIR@/gunicorn-error.log"
loglevel = "info"
# No query strings in the access log: search terms are personal data.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
forwarded_allow_ips = "127.0.0.1"
proc_name = "clinic"
