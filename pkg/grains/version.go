package grains

// Version is Brine's version, reported as the brineversion grain and by
// test.version. Release builds set it with
// -ldflags "-X github.com/brine-project/brine/pkg/grains.Version=v1.2.3".
var Version = "0.1.0-dev"
