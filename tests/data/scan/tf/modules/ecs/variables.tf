variable "name" {
  type    = string
  default = "orders"
}

variable "image" {
  description = "no default: known only at plan time"
  type        = string
}

variable "app_user" {
  type    = string
  default = "1000:1000"
}

variable "read_only" {
  type    = bool
  default = true
}
