global using Gateway.Tests.Support;
global using Xunit;
