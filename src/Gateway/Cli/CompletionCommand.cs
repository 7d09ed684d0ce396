using System.CommandLine;
using System.Text;

namespace Gateway.Cli;

/// <summary><c>gateway completion bash|zsh|fish</c>: a completion script generated from the command tree.</summary>
internal static class CompletionCommand
{
    public static Command Build()
    {
        var shell = new Argument<string>("SHELL") { Description = "bash, zsh or fish." };
        shell.AcceptOnlyFromAmong("bash", "zsh", "fish");
        var command = new Command("completion", "Print a shell completion script (for example: source <(gateway completion bash)).") { shell };
        command.SetAction(parse =>
        {
            var root = CliApp.BuildRoot();
            Console.Out.Write(parse.GetValue(shell) switch
            {
                "bash" => Bash(root),
                "zsh" => Zsh(root),
                _ => Fish(root),
            });
            return CliApp.Ok;
        });
        return command;
    }

    /// <summary>Each verb with what may follow it: its sub-verbs (<c>keys add|revoke|list</c>), then their options and its own.</summary>
    private static IEnumerable<(string Name, string Description, string[] Options)> Verbs(RootCommand root) =>
        root.Subcommands.Select(c => (c.Name, c.Description ?? "", c.Subcommands.Select(s => s.Name)
            .Concat(c.Subcommands.SelectMany(s => s.Options).Concat(c.Options).SelectMany(o => new[] { o.Name }.Concat(o.Aliases)))
            .Append("--help").Distinct().ToArray()));

    private static string Bash(RootCommand root)
    {
        var text = new StringBuilder();
        text.AppendLine("# bash completion for gateway");
        text.AppendLine("_gateway() {");
        text.AppendLine("  local cur=\"${COMP_WORDS[COMP_CWORD]}\" verb=\"${COMP_WORDS[1]}\"");
        text.AppendLine("  if [ \"$COMP_CWORD\" -eq 1 ]; then");
        text.AppendLine($"    COMPREPLY=($(compgen -W \"{string.Join(' ', Verbs(root).Select(v => v.Name))} --help --version\" -- \"$cur\") $(compgen -f -- \"$cur\"))");
        text.AppendLine("    return");
        text.AppendLine("  fi");
        text.AppendLine("  case \"$verb\" in");
        foreach (var (name, _, options) in Verbs(root))
        {
            var words = name == "completion" ? "bash zsh fish" : string.Join(' ', options);
            text.AppendLine($"    {name}) COMPREPLY=($(compgen -W \"{words}\" -- \"$cur\") $(compgen -f -- \"$cur\")) ;;");
        }

        text.AppendLine("    *) COMPREPLY=($(compgen -f -- \"$cur\")) ;;");
        text.AppendLine("  esac");
        text.AppendLine("}");
        text.AppendLine("complete -o filenames -F _gateway gateway");
        return text.ToString();
    }

    private static string Zsh(RootCommand root)
    {
        var text = new StringBuilder();
        text.AppendLine("#compdef gateway");
        text.AppendLine("_gateway() {");
        text.AppendLine("  local -a verbs");
        text.AppendLine("  verbs=(");
        foreach (var (name, description, _) in Verbs(root))
        {
            text.AppendLine($"    '{name}:{description.Replace("'", "", StringComparison.Ordinal).Replace(":", " -", StringComparison.Ordinal)}'");
        }

        text.AppendLine("  )");
        text.AppendLine("  if (( CURRENT == 2 )); then");
        text.AppendLine("    _describe 'verb' verbs; _files; return");
        text.AppendLine("  fi");
        text.AppendLine("  case \"$words[2]\" in");
        foreach (var (name, _, options) in Verbs(root))
        {
            var words = name == "completion" ? "bash zsh fish" : string.Join(' ', options);
            text.AppendLine($"    {name}) compadd -- {words}; _files ;;");
        }

        text.AppendLine("    *) _files ;;");
        text.AppendLine("  esac");
        text.AppendLine("}");
        text.AppendLine("compdef _gateway gateway");
        return text.ToString();
    }

    private static string Fish(RootCommand root)
    {
        var text = new StringBuilder();
        text.AppendLine("# fish completion for gateway");
        var verbs = string.Join(' ', Verbs(root).Select(v => v.Name));
        foreach (var (name, description, options) in Verbs(root))
        {
            text.AppendLine($"complete -c gateway -n \"not __fish_seen_subcommand_from {verbs}\" -a {name} -d '{description.Replace("'", "", StringComparison.Ordinal)}'");
            foreach (var option in options.Where(o => o.StartsWith("--", StringComparison.Ordinal)))
            {
                text.AppendLine($"complete -c gateway -n \"__fish_seen_subcommand_from {name}\" -l {option[2..]}");
            }

            var words = options.Where(o => !o.StartsWith('-')).ToArray();
            if (words.Length > 0)
            {
                text.AppendLine($"complete -c gateway -n \"__fish_seen_subcommand_from {name}\" -a '{string.Join(' ', words)}'");
            }
        }

        text.AppendLine("complete -c gateway -n \"__fish_seen_subcommand_from completion\" -a 'bash zsh fish'");
        return text.ToString();
    }
}
