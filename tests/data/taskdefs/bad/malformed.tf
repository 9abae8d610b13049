resource "aws_ecs_task_definition" "x" {
  family = 
