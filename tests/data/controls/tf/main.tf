resource "aws_ecs_task_definition" "plain" {
  family                = "plain"
  container_definitions = jsonencode([{ name = "app", image = "a", user = "1000" }])
}

resource "aws_ecs_task_definition" "privileged" {
  family                = "privileged"
  container_definitions = jsonencode([{ name = "app", image = "a", privileged = true }, { name = "side", image = "s" }])
}

resource "aws_ecs_task_definition" "not_privileged" {
  family                = "not_privileged"
  container_definitions = jsonencode([{ name = "app", image = "a", privileged = false, user = "root" }])
}
