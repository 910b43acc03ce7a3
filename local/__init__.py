"""`make local`: the whole clinic on one machine, no AWS account.

moto's server stands in for S3 and SQS, a worker feeds S3 events to the same
``lambda_src/handler.py`` that is deployed, and the Django app runs under
gunicorn with the same environment variables as on EC2 (names from
clinic_app/clinic/envvars.py). What must match AWS comes from the same source
as the stack: keys and the manifest from lambda_src/photo_contract.py, the
bucket's CORS, the trigger and the processor's timeout and retries from
stacks/photo_pipeline.py and cdk.json (no aws_cdk is imported here). See
docs/local.md.
"""
