#!/usr/bin/env python3
"""CDK entry point: the clinic stack, checked by cdk-nag's AwsSolutions pack on every synth."""

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from stacks.clinic_stack import ClinicStack


def build_app(context: dict | None = None, outdir: str | None = None) -> cdk.App:
    app = cdk.App(context=context, outdir=outdir)
    # Environment-agnostic on purpose: synth needs no credentials and no look-ups.
    ClinicStack(app, "ClinicStack", description="Veterinary clinic: animal registration with photos")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()
