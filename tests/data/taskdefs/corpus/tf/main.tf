variable "ro" { default = true }

resource "aws_ecs_task_definition" "bad" {
  family                = "bad"
  container_definitions = jsonencode([{ name = "app", image = "nginx", readonlyRootFilesystem = false }])
}

resource "aws_ecs_task_definition" "good" {
  family                = "good"
  container_definitions = jsonencode([{ name = "app", image = "nginx", readonlyRootFilesystem = true }])
}

resource "aws_ecs_task_definition" "absent" {
  family = "absent"
  container_definitions = jsonencode([
    { name = "app", image = "nginx" },
    { name = "side", image = "x", readonlyRootFilesystem = true }
  ])
}

resource "aws_ecs_task_definition" "from_file" {
  family                = "from-file"
  container_definitions = file("defs.json")
}

resource "aws_ecs_task_definition" "heredoc" {
  family                = "heredoc"
  container_definitions = <<EOT
[{"name": "h", "image": "h:1", "readonlyRootFilesystem": false}]
EOT
}

resource "aws_ecs_task_definition" "variable" {
  family                = "variable"
  container_definitions = jsonencode([{ name = "v", image = "v:1", readonlyRootFilesystem = var.ro }])
}

resource "aws_ecs_task_definition" "windows" {
  family                = "windows"
  container_definitions = jsonencode([{ name = "iis", image = "iis" }])
  runtime_platform {
    operating_system_family = "WINDOWS_SERVER_2019_CORE"
  }
}

variable "ro_unset" {}

resource "aws_ecs_task_definition" "variable_unset" {
  family                = "variable-unset"
  container_definitions = jsonencode([{ name = "u", image = "u:1", readonlyRootFilesystem = var.ro_unset }])
}
