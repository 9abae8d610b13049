locals {
  name = "shop"
}

module "ecs_service" {
  source  = "terraform-aws-modules/ecs/aws//modules/service"
  version = "~> 6.0"

  name = local.name

  container_definitions = {
    frontend = {
      image     = "public.ecr.aws/example/frontend:2"
      essential = true
      user      = "1000"
    }
    fluent-bit = {
      image                  = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
      readonlyRootFilesystem = false
      user                   = "0"
    }
  }
}

module "ecs" {
  source = "terraform-aws-modules/ecs/aws"

  cluster_name = "shop"
  services = {
    worker = {
      container_definitions = {
        worker = {
          image                    = "worker:1"
          readonly_root_filesystem = false
        }
      }
    }
  }
}

module "vpc" {
  source = "terraform-aws-modules/vpc/aws"
  name   = "shop"
}
