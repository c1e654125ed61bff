"""Deploy targets of a cloud assembly beyond ``cdk deploy``: the local emulator and Pulumi."""
