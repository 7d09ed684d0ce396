using Gateway.Cli;

return CliApp.Run(args);
