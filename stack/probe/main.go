// Command probe asks Kafka for its cluster metadata with kafka-go, the client the app uses,
// so stack.sh waits until the broker really answers (not merely until its port is open).
//
//	go run ./stack/probe 127.0.0.1:9092
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/segmentio/kafka-go"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: probe HOST:PORT")
		os.Exit(2)
	}
	conn, err := (&kafka.Dialer{Timeout: 2 * time.Second}).Dial("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	brokers, err := conn.Brokers()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctrl, err := conn.Controller()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("brokers=%d controller=%d\n", len(brokers), ctrl.ID)
}
