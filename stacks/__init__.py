"""CDK stacks and constructs of the clinic: one construct per concern, each whole when built.

ClinicStack (clinic_stack.py) only composes them and wires grants. The seams
other folders rely on are plain modules without aws_cdk at import time:
installer.py (the stack -> instance contract), photo_pipeline.py and config.py
(read by local/ too); the photo contract itself is lambda_src/photo_contract.py.
"""
