"""CDK stacks and constructs of the clinic: one construct per concern."""
