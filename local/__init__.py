"""`make local`: the whole clinic on one machine, no AWS account.

moto's server stands in for S3 and SQS, a worker feeds S3 events to the same
``lambda_src/handler.py`` that is deployed, and the Django app runs under
gunicorn with the same environment variables as on EC2. See docs/local.md.
"""
