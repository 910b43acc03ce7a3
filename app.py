#!/usr/bin/env python3
"""CDK entry point: the clinic stack, checked by cdk-nag's AwsSolutions pack on every synth."""

import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from stacks.clinic_stack import ClinicStack
from stacks.config import ConfigError


def build_app(context: dict | None = None, outdir: str | None = None) -> cdk.App:
    app = cdk.App(context=context, outdir=outdir)
    # Environment-agnostic on purpose: synth needs no credentials and no look-ups.
    ClinicStack(app, "ClinicStack", description="Veterinary clinic: animal registration with photos")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    try:
        build_app().synth()
    except ConfigError as error:
        # A settings mistake is the operator's, not a bug: one clear line, no traceback.
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
