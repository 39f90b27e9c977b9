from . import models
from . import simulator_mount

simulator_mount.install()
