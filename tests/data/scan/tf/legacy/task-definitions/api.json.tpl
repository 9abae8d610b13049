[
  {
    "name": "api",
    "image": "${image}",
    "readonlyRootFilesystem": true,
    "user": "1000",
    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "${log_group}"}}
  }
]
