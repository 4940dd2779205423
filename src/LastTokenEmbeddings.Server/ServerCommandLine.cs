using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using LastTokenEmbeddings.AspNetCore;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Hub;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Server;

/// <summary>
/// The server's command line. Every option can also come from an <c>LTE_*</c> environment variable (the option's
/// name upper-cased, e.g. <c>--max-concurrent-requests</c> → <c>LTE_MAX_CONCURRENT_REQUESTS</c>), which is how
/// containers configure it; the command line wins.
/// </summary>
internal sealed class ServerCommandLine
{
    private static readonly string[] PromptNames = ["raw", "mistral-instruct", "e5-instruct", "qwen3-embedding"];
    private static readonly string[] RoleNames = ["query", "document"];
    private static readonly string[] LogFormats = ["text", "json"];

    /// <summary>The variable that carries the API key (preferred over <c>--api-key</c>).</summary>
    public const string ApiKeyVariable = "LTE_API_KEY";

    private readonly Option<string?> model = WithEnv(new Option<string?>("--model", "-m")
    {
        Description = "Model directory, or Hugging Face id ORG/NAME (downloaded into the hub cache unless HF_HUB_OFFLINE=1).",
        HelpName = "DIR_OR_ID",
    });

    private readonly Option<string?> reranker = WithEnv(new Option<string?>("--reranker")
    {
        Description = "A reranker to serve at TEI's POST /rerank besides the embedding model (Qwen3-Reranker format): directory or Hugging Face id.",
        HelpName = "DIR_OR_ID",
    });

    private readonly Option<string?> revision = WithEnv(new Option<string?>("--revision")
    {
        Description = "Branch, tag or commit of a hub id given to --model (default: main). HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE and HF_HUB_OFFLINE apply.",
        HelpName = "REV",
    });

    private readonly Option<string?> rerankerRevision = WithEnv(new Option<string?>("--reranker-revision")
    {
        Description = "Branch, tag or commit of a hub id given to --reranker (default: main).",
        HelpName = "REV",
    });

    private readonly Option<string> host = WithEnv(new Option<string>("--host")
    {
        Description = "Address to listen on: 127.0.0.1 (default), 0.0.0.0 or :: for every interface (containers), or localhost.",
        DefaultValueFactory = _ => "127.0.0.1",
    });

    private readonly Option<int> port = WithEnv(new Option<int>("--port", "-p")
    {
        Description = "TCP port; 0 picks a free one (the chosen address is printed as 'listening on URL').",
        DefaultValueFactory = _ => 8080,
    });

    private readonly Option<string> dtype = WithEnv(new Option<string>("--dtype")
    {
        Description = $"Compute dtype: {string.Join('|', ComputeDTypeNames.Names)}. auto: bfloat16 where the CPU has native bfloat16, else float32.",
        DefaultValueFactory = _ => "auto",
    }, ComputeDTypeNames.Names);

    private readonly Option<string?> pooling = WithEnv(new Option<string?>("--pooling")
    {
        Description = $"Pooling: {string.Join('|', PoolingStrategies.Names)}. Default: what the model declares, else last-token-hidden.",
    }, PoolingStrategies.Names);

    private readonly Option<string?> prompt = WithEnv(new Option<string?>("--prompt")
    {
        Description = $"Prompt format: {string.Join('|', PromptNames)}. Default: the model's declared prompts, else raw.",
    }, PromptNames);

    private readonly Option<string?> instruction = WithEnv(new Option<string?>("--instruction")
    {
        Description = "Query instruction for e5-instruct and qwen3-embedding.",
    });

    private readonly Option<int?> maxTokens = WithEnv(new Option<int?>("--max-tokens")
    {
        Description = "Token limit per input, prompt included (TEI's max_input_length). Default: what the model allows.",
    });

    private readonly Option<int?> maxBatchTokens = WithEnv(new Option<int?>("--max-batch-tokens")
    {
        Description = "Most padded tokens in one forward pass (default 8192).",
    });

    private readonly Option<int?> maxBatchRequests = WithEnv(new Option<int?>("--max-batch-requests")
    {
        Description = "Most texts in one forward pass (default 64).",
    });

    // No environment default: help would print it. The variable is read in Settings instead.
    private readonly Option<string?> apiKey = new("--api-key")
    {
        Description = $"Require 'Authorization: Bearer KEY' on the API routes (/health and /metrics stay open). Prefer the {ApiKeyVariable} variable: command lines are visible to other users. [env: {ApiKeyVariable}]",
        HelpName = "KEY",
    };

    private readonly Option<string?> servedModelName = WithEnv(new Option<string?>("--served-model-name")
    {
        Description = "The model name clients send and responses report. Default: the model's id.",
    });

    private readonly Option<bool> acceptAnyModelName = WithEnv(new Option<bool>("--accept-any-model-name")
    {
        Description = "Accept any OpenAI 'model' value (as TEI does) instead of answering 404 for a name that is not served.",
    });

    private readonly Option<int> maxConcurrentRequests = WithEnv(new Option<int>("--max-concurrent-requests")
    {
        Description = "Requests admitted at once (queued or being embedded); more are refused with 429 and Retry-After.",
        DefaultValueFactory = _ => new EmbeddingServerOptions().MaxConcurrentRequests,
    });

    private readonly Option<int> maxClientBatchSize = WithEnv(new Option<int>("--max-client-batch-size")
    {
        Description = "Most inputs in one request; more is refused with 413.",
        DefaultValueFactory = _ => new EmbeddingServerOptions().MaxClientBatchSize,
    });

    private readonly Option<long> payloadLimit = WithEnv(new Option<long>("--payload-limit")
    {
        Description = "Largest request body in bytes; larger is refused with 413.",
        DefaultValueFactory = _ => new EmbeddingServerOptions().MaxRequestBodyBytes,
    });

    private readonly Option<bool> autoTruncate = WithEnv(new Option<bool>("--auto-truncate")
    {
        Description = "Cut over-long inputs instead of refusing them (the default of /embed's 'truncate', and always on /v1/embeddings).",
    });

    private readonly Option<string> defaultInputType = WithEnv(new Option<string>("--default-input-type")
    {
        Description = "Role of inputs whose request names none (input_type field or X-Input-Type header).",
        DefaultValueFactory = _ => "query",
    }, RoleNames);

    private readonly Option<bool> noCrossRequestBatching = WithEnv(new Option<bool>("--no-cross-request-batching")
    {
        Description = "Embed one request at a time instead of letting concurrent requests share forward passes.",
    });

    private readonly Option<int> shutdownTimeout = WithEnv(new Option<int>("--shutdown-timeout")
    {
        Description = "Seconds a stopping server waits for accepted requests to finish.",
        DefaultValueFactory = _ => 30,
    });

    private readonly Option<string> logFormat = WithEnv(new Option<string>("--log-format")
    {
        Description = "Console logs as text lines or JSON objects (one per line).",
        DefaultValueFactory = _ => "text",
    }, LogFormats);

    public ServerCommandLine()
    {
        Root = new RootCommand("LastTokenEmbeddings server: OpenAI-compatible /v1/embeddings and Hugging Face TEI-compatible /embed, /tokenize, /rerank (with --reranker), /info, /health, /metrics.");
        foreach (var option in new Option[]
                 {
                     model, revision, reranker, rerankerRevision, host, port, dtype, pooling, prompt, instruction, maxTokens, maxBatchTokens, maxBatchRequests, apiKey,
                     servedModelName, acceptAnyModelName, maxConcurrentRequests, maxClientBatchSize, payloadLimit, autoTruncate,
                     defaultInputType, noCrossRequestBatching, shutdownTimeout, logFormat,
                 })
        {
            Root.Options.Add(option);
        }
    }

    /// <summary>The command (for parsing and help).</summary>
    public RootCommand Root { get; }

    /// <summary>
    /// What is wrong with a command line: parse errors, then checks that need the final values (command-line
    /// validators do not see values that come from environment variables).
    /// </summary>
    public IReadOnlyList<string> Problems(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var problems = result.Errors.Select(error => error.Message).ToList();
        if (problems.Count > 0)
            return problems;
        if (string.IsNullOrWhiteSpace(result.GetValue(model)))
            problems.Add("--model (or LTE_MODEL) is required.");
        if (result.GetValue(port) is < 0 or > 65535)
            problems.Add("--port must lie in [0, 65535].");
        if (result.GetValue(shutdownTimeout) < 0)
            problems.Add("--shutdown-timeout must not be negative.");
        CheckRevision(problems, result.GetValue(revision), result.GetValue(model), "--revision", "--model");
        CheckRevision(problems, result.GetValue(rerankerRevision), result.GetValue(reranker), "--reranker-revision", "--reranker");
        if (result.GetValue(instruction) is not null && result.GetValue(prompt) is not ("e5-instruct" or "qwen3-embedding"))
            problems.Add("--instruction applies only to --prompt e5-instruct or qwen3-embedding.");
        return problems;
    }

    private static void CheckRevision(List<string> problems, string? revisionValue, string? modelValue, string revisionOption, string modelOption)
    {
        if (revisionValue is null)
            return;
        if (string.IsNullOrWhiteSpace(revisionValue))
            problems.Add($"{revisionOption} must not be empty.");
        else if (modelValue is null || !HuggingFaceHub.IsHubModelReference(modelValue))
            problems.Add($"{revisionOption} needs {modelOption} ORG/NAME (a hub id, not a directory).");
    }

    /// <summary>The hub settings for one model: the environment's, at the given revision.</summary>
    private static HubOptions? HubAt(string? revisionValue) =>
        revisionValue is null ? null : HubOptions.FromEnvironment() with { Revision = revisionValue };

    /// <summary>The settings of a command line without <see cref="Problems"/>.</summary>
    public ServerSettings Settings(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        ComputeDTypeNames.TryParse(result.GetValue(dtype), out var computeDType);
        var promptName = result.GetValue(prompt);
        var key = result.GetValue(apiKey) ?? Environment.GetEnvironmentVariable(ApiKeyVariable);
        return new ServerSettings
        {
            Model = result.GetValue(model)!,
            Reranker = result.GetValue(reranker),
            Host = result.GetValue(host)!,
            Port = result.GetValue(port),
            Load = new ModelLoadOptions { DType = computeDType, Hub = HubAt(result.GetValue(revision)) },
            RerankerLoad = new ModelLoadOptions { DType = computeDType, Hub = HubAt(result.GetValue(rerankerRevision)) },
            Embedding = new EmbeddingOptions
            {
                Pooling = result.GetValue(pooling) is { } poolingName ? PoolingStrategies.Parse(poolingName) : null,
                Prompt = promptName is null ? null : ParsePrompt(promptName, result.GetValue(instruction)),
                MaxTokens = result.GetValue(maxTokens),
                MaxBatchTokens = result.GetValue(maxBatchTokens) ?? new EmbeddingOptions().MaxBatchTokens,
                MaxBatchSize = result.GetValue(maxBatchRequests) ?? new EmbeddingOptions().MaxBatchSize,
            },
            Server = new EmbeddingServerOptions
            {
                ServedModelName = result.GetValue(servedModelName),
                RequireMatchingModelName = !result.GetValue(acceptAnyModelName),
                ApiKey = string.IsNullOrEmpty(key) ? null : key,
                MaxConcurrentRequests = result.GetValue(maxConcurrentRequests),
                MaxClientBatchSize = result.GetValue(maxClientBatchSize),
                MaxRequestBodyBytes = result.GetValue(payloadLimit),
                AutoTruncate = result.GetValue(autoTruncate),
                DefaultInputType = ServerSettings.ParseRole(result.GetValue(defaultInputType)!),
                CrossRequestBatching = !result.GetValue(noCrossRequestBatching),
            },
            ShutdownTimeout = TimeSpan.FromSeconds(result.GetValue(shutdownTimeout)),
            JsonLogs = result.GetValue(logFormat) == "json",
        };
    }

    private static PromptFormat ParsePrompt(string name, string? instruction) => name switch
    {
        "mistral-instruct" => PromptFormat.MistralInstruct,
        "e5-instruct" => PromptFormat.E5Instruct(instruction),
        "qwen3-embedding" => PromptFormat.Qwen3Embedding(instruction),
        _ => PromptFormat.Raw,
    };

    /// <summary>The environment variable of an option: <c>--max-tokens</c> → <c>LTE_MAX_TOKENS</c>.</summary>
    public static string VariableOf(Option option) =>
        "LTE_" + option.Name.TrimStart('-').Replace('-', '_').ToUpperInvariant();

    /// <summary>Makes an option fall back to its environment variable, then to its own default.</summary>
    private static Option<T> WithEnv<T>(Option<T> option, IReadOnlyList<string>? choices = null)
    {
        var variable = VariableOf(option);
        var fallback = option.DefaultValueFactory;
        option.Description += $" [env: {variable}]";
        option.DefaultValueFactory = result =>
        {
            var raw = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(raw))
                return fallback is null ? default! : fallback(result);
            if (TryConvert<T>(raw, out var value) && (choices is null || choices.Contains(raw)))
                return value;
            // The value is not echoed: the variable may hold a secret.
            result.AddError($"{variable} is not a valid value for {option.Name}" + (choices is null ? "." : $"; expected one of: {string.Join(", ", choices)}."));
            return default!;
        };
        if (choices is not null)
            option.AcceptOnlyFromAmong([.. choices]);
        return option;
    }

    private static bool TryConvert<T>(string raw, out T value)
    {
        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        object? converted = null;
        if (type == typeof(string))
            converted = raw;
        else if (type == typeof(int) && int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i))
            converted = i;
        else if (type == typeof(long) && long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l))
            converted = l;
        else if (type == typeof(bool))
            converted = raw switch { "1" => true, "0" => false, _ => bool.TryParse(raw, out var b) ? b : null };
        value = converted is null ? default! : (T)converted;
        return converted is not null;
    }
}
