using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Cli;

/// <summary>Factories for the options several commands share, and conversion of their values.</summary>
internal static class CliOptions
{
    public static readonly string[] PromptNames = ["raw", "mistral-instruct", "e5-instruct", "qwen3-embedding"];
    public static readonly string[] InstructedPromptNames = ["e5-instruct", "qwen3-embedding"];
    public static readonly string[] SpecialTokenPolicies = ["parse", "text"];
    public static readonly string[] DTypeNames = [.. ComputeDTypeNames.Names];
    public static readonly string[] FormatNames = ["table", "json"];
    public static readonly string[] RoleNames = ["query", "document"];

    public static Option<string?> Model() => new("--model", "-m")
    {
        Description = "Hugging Face model directory (config.json, tokenizer.model or tokenizer.json, safetensors) or hub id ORG/NAME (found in or downloaded to the shared Hugging Face cache; an existing directory wins). Default: the tiny test model tests/fixtures/tiny-mistral, found above the tool or the current directory.",
        HelpName = "DIR|ID",
    };

    public static Option<string?> Revision() => new("--revision")
    {
        Description = "Branch, tag or commit of a hub id given to --model (default: main). HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE and HF_HUB_OFFLINE apply.",
        HelpName = "REV",
    };

    public static Option<string?> Pooling() => Choice(new Option<string?>("--pooling", "-p")
    {
        Description = $"Pooling: {string.Join('|', PoolingStrategies.Names)}. Default: what the model declares (sentence-transformers files), else last-token-hidden.",
        HelpName = "NAME",
    }, PoolingStrategies.Names);

    public static Option<string?> Prompt() => Choice(new Option<string?>("--prompt")
    {
        Description = $"Prompt format: {string.Join('|', PromptNames)}. raw is what tokenizer(text) gives. Default: the model's declared prompts, else raw.",
        HelpName = "FORMAT",
    }, PromptNames);

    public static Option<string?> Instruction() => new("--instruction")
    {
        Description = $"Task instruction for e5-instruct and qwen3-embedding queries. Default: \"{Tokenization.PromptFormat.DefaultInstruction}\".",
        HelpName = "TEXT",
    };

    public static Option<string?> SpecialTokens() => Choice(new Option<string?>("--special-tokens")
    {
        Description = "Special-token strings inside texts (</s>, <|im_end|>): parse them into their ids or encode them as plain text. Default: as the tokenizer does (parse, unless its tokenizer_config.json sets split_special_tokens).",
        HelpName = "POLICY",
    }, SpecialTokenPolicies);

    public static Option<string> DType() => Choice(new Option<string>("--dtype")
    {
        Description = $"Compute dtype: {string.Join('|', DTypeNames)}. auto: bfloat16 where the CPU has native bfloat16, else float32; stored keeps the checkpoint's dtype.",
        HelpName = "DTYPE",
        DefaultValueFactory = _ => "auto",
    }, DTypeNames);

    public static Option<bool> NoNormalize() => new("--no-normalize")
    {
        Description = "Do not L2-normalise the vectors.",
    };

    public static Option<int?> Dimensions() => Positive(new Option<int?>("--dimensions")
    {
        Description = "Keep only the first N dimensions (before normalising).",
        HelpName = "N",
    });

    public static Option<int?> MaxTokens() => Positive(new Option<int?>("--max-tokens")
    {
        Description = "Token limit per text, prompt included; longer texts are truncated. Default: the smaller of max_position_embeddings and the declared max_seq_length.",
        HelpName = "N",
    });

    public static Option<int?> Layer() => NonNegative(new Option<int?>("--layer")
    {
        Description = "Hidden state to pool, 0..num_hidden_layers as in transformers' hidden_states (0 = embeddings; default: the final normed output). Not for last-token-logits.",
        HelpName = "N",
    });

    public static Option<string> Format() => Choice(new Option<string>("--format", "-f")
    {
        Description = "Output: table (human-readable) or json (stable contract, see docs/cli.md).",
        HelpName = "FORMAT",
        DefaultValueFactory = _ => "table",
    }, FormatNames);

    public static Option<string> Role(string defaultRole = "query") => Choice(new Option<string>("--role")
    {
        Description = $"Whether the texts are queries or documents (e5-instruct, qwen3-embedding and declared prompts treat them differently). Default: {defaultRole}.",
        HelpName = "ROLE",
        DefaultValueFactory = _ => defaultRole,
    }, RoleNames);

    public static Option<string?> Input() => new("--input", "-i")
    {
        Description = "Read texts from FILE ('-' for stdin): one text per line, or JSON lines with a string \"text\" field.",
        HelpName = "FILE",
    };

    public static Argument<string[]> Texts() => new("texts")
    {
        Description = "Texts to process (in addition to those from --input).",
        Arity = ArgumentArity.ZeroOrMore,
    };

    /// <summary>Adds several options to a command at once.</summary>
    public static void AddOptions(this Command command, params Option[] options)
    {
        foreach (var option in options)
            command.Options.Add(option);
    }

    /// <summary>Splits comma-separated values and lower-cases them, keeping order and dropping duplicates.</summary>
    public static string[] SplitList(IEnumerable<string> values) =>
        values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(v => v.ToLowerInvariant()).Distinct(StringComparer.Ordinal).ToArray();

    public static ComputeDType ParseDType(string name) =>
        ComputeDTypeNames.TryParse(name, out var dtype)
            ? dtype
            : throw new UsageException($"invalid --dtype '{name}'; expected one of: {string.Join(", ", DTypeNames)}.");

    public static Embeddings.SpecialTokenPolicy? ParseSpecialTokens(string? name) => name?.ToLowerInvariant() switch
    {
        null => null,
        "parse" => Embeddings.SpecialTokenPolicy.Parse,
        "text" => Embeddings.SpecialTokenPolicy.AsText,
        _ => throw new UsageException($"invalid --special-tokens '{name}'; expected one of: {string.Join(", ", SpecialTokenPolicies)}."),
    };

    public static TextRole ParseRole(string name) => name.ToLowerInvariant() switch
    {
        "query" => TextRole.Query,
        "document" => TextRole.Document,
        _ => throw new UsageException($"invalid --role '{name}'; expected one of: {string.Join(", ", RoleNames)}."),
    };

    /// <summary>The pooling strategy for a validated name; a usage error when <paramref name="layer"/> does not apply.</summary>
    public static IPoolingStrategy ParsePooling(string name, int? layer)
    {
        ArgumentNullException.ThrowIfNull(name);
        try
        {
            return PoolingStrategies.Parse(name, layer);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }

    /// <summary>The prompt format for a validated name.</summary>
    public static PromptFormat ParsePrompt(string name, string? instruction) => name.ToLowerInvariant() switch
    {
        "raw" => PromptFormat.Raw,
        "mistral-instruct" => PromptFormat.MistralInstruct,
        "e5-instruct" => PromptFormat.E5Instruct(instruction),
        "qwen3-embedding" => PromptFormat.Qwen3Embedding(instruction),
        _ => throw new UsageException($"invalid --prompt '{name}'; expected one of: {string.Join(", ", PromptNames)}."),
    };

    /// <summary>Checks that <c>--instruction</c> is meaningful for the chosen prompt formats.</summary>
    public static void CheckInstruction(string? instruction, IReadOnlyCollection<string> prompts)
    {
        if (instruction is null)
            return;
        if (string.IsNullOrWhiteSpace(instruction))
            throw new UsageException("--instruction must not be empty.");
        if (!prompts.Any(InstructedPromptNames.Contains))
            throw new UsageException("--instruction applies only to --prompt e5-instruct or qwen3-embedding.");
    }

    public static bool IsJson(string format) => string.Equals(format, "json", StringComparison.OrdinalIgnoreCase);

    private static T Choice<T>(T option, IReadOnlyList<string> valid) where T : Option
    {
        AddChoiceValidator(option, valid);
        return option;
    }

    /// <summary>Rejects values outside <paramref name="valid"/> (case-insensitive; list options may separate values with commas) with a one-line message.</summary>
    public static void AddChoiceValidator(Option option, IReadOnlyList<string> valid)
    {
        var isList = option is Option<string[]>;
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                foreach (var value in isList ? token.Value.Split(',', StringSplitOptions.TrimEntries) : [token.Value])
                {
                    if (!valid.Contains(value, StringComparer.OrdinalIgnoreCase))
                    {
                        result.AddError($"invalid {option.Name} value '{value}'; expected one of: {string.Join(", ", valid)}.");
                        return;
                    }
                }
            }
        });
        option.CompletionSources.Add(valid.ToArray());
    }

    private static Option<int?> Positive(Option<int?> option) => Bounded(option, 1, "a positive integer");

    private static Option<int?> NonNegative(Option<int?> option) => Bounded(option, 0, "a non-negative integer");

    private static Option<int?> Bounded(Option<int?> option, int minimum, string what)
    {
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (!int.TryParse(token.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < minimum)
                {
                    result.AddError($"invalid {option.Name} value '{token.Value}'; expected {what}.");
                    return;
                }
            }
        });
        return option;
    }
}
