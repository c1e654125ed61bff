"""Machine-learning code that runs inside SageMaker jobs, not in the CDK app."""
