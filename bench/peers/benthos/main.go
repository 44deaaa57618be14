// A Benthos v4.27.0 binary with only the components the peers benchmark uses:
// the kafka input, the sql_insert output (postgres driver) and the pure processors.
package main

import (
	"context"

	_ "github.com/benthosdev/benthos/v4/public/components/kafka"
	_ "github.com/benthosdev/benthos/v4/public/components/pure"
	_ "github.com/benthosdev/benthos/v4/public/components/sql"
	"github.com/benthosdev/benthos/v4/public/service"
)

func main() {
	service.RunCLI(context.Background())
}
