"""Reading task definitions from files: JSON, describe output, Terraform, CloudFormation."""
