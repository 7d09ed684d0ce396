using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Gateway.Benchmarks.RouteMatchingBenchmarks).Assembly).Run(args);
