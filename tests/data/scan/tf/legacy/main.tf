# Terraform 0.11 style, as older modules still are: the template provider and interpolation-only strings
data "template_file" "api" {
  template = "${file("${path.module}/task-definitions/api.json.tpl")}"

  vars = {
    image     = "${var.image}"
    log_group = "/ecs/api"
  }
}

variable "image" {}

resource "aws_ecs_task_definition" "api" {
  family                = "api"
  container_definitions = "${data.template_file.api.rendered}"
}

data "template_file" "api_011" {
  template = "${file("${path.module}/task-definitions/api.json.tpl")}"

  vars {
    image     = "${var.image}"
    log_group = "/ecs/api"
  }
}

resource "aws_ecs_task_definition" "api_011" {
  family                = "api-011"
  container_definitions = "${data.template_file.api_011.rendered}"
}

resource "aws_ecs_task_definition" "cwd_relative" {
  family                = "worker"
  container_definitions = file("legacy/task-definitions/worker.json")
}
