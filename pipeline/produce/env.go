package produce

import "os"

var getenv = os.Getenv
