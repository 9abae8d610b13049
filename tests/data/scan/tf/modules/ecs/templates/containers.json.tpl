[
  {
    "name": "${name}",
    "image": "${image}",
    "essential": true,
    "readonlyRootFilesystem": true,
    "user": "${user}",
    "portMappings": [{"containerPort": ${port}}],
    "logConfiguration": {
      "logDriver": "awslogs",
      "options": {"awslogs-group": "${log_group}", "awslogs-stream-prefix": "$${name}"}
    }
  }
]
