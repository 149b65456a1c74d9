//go:build race

package main

// raceEnabled: the race detector slows everything several times, so timing goals get a wider margin.
const raceEnabled = true
