// Package storedevents is the stored shape of the domain's events.
package storedevents
