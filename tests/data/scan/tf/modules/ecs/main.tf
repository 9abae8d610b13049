locals {
  port      = 8080
  log_group = "/ecs/${var.name}"
  common_env = [
    { name = "PORT", value = tostring(local.port) },
  ]
  sidecar = {
    name                   = "log-router"
    image                  = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
    essential              = false
    readonlyRootFilesystem = var.read_only
    user                   = "0"
  }
}

# from a template file with literals, variable defaults, locals and an unknown image
resource "aws_ecs_task_definition" "templated" {
  family = var.name
  container_definitions = templatefile("${path.module}/templates/containers.json.tpl", {
    name      = var.name
    image     = var.image
    user      = var.app_user
    log_group = local.log_group
    port      = local.port
  })
}

# from a JSON file next to the module
resource "aws_ecs_task_definition" "from_file" {
  family                = "${var.name}-worker"
  container_definitions = file("${path.module}/worker.json")
}

# jsonencode of merge and concat, a literal flag whatever the image
resource "aws_ecs_task_definition" "merged" {
  family = "${var.name}-api"
  container_definitions = jsonencode(concat([
    merge({
      name  = "api"
      image = "${var.image}:latest"
      environment = concat(local.common_env, [{ name = "MODE", value = "api" }])
    }, {
      readonlyRootFilesystem = true
      user                   = var.app_user
    }),
  ], [local.sidecar]))
}

# a heredoc with interpolations in its values
resource "aws_ecs_task_definition" "heredoc" {
  family                = "${var.name}-cron"
  container_definitions = <<DEFS
[
  {
    "name": "cron",
    "image": "${var.image}",
    "readonlyRootFilesystem": ${var.read_only},
    "user": "${var.app_user}",
    "privileged": false,
    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "${local.log_group}"}}
  }
]
DEFS
}

resource "aws_ecs_task_definition" "legacy" {
  family = "${var.name}-legacy"
  # ecs5probe:skip=ECS.5 the legacy agent writes its spool under /opt; tracked in OPS-42
  container_definitions = jsonencode([
    {
      name  = "agent"
      image = "legacy/agent:7"
    },
  ])
}

resource "aws_ecs_task_definition" "dynamic" {
  family                = "${var.name}-dynamic"
  container_definitions = jsonencode(var.containers_from_the_caller)
}
