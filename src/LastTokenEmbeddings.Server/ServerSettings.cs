using LastTokenEmbeddings.AspNetCore;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Server;

/// <summary>Everything the command line (or its <c>LTE_*</c> environment variables) sets.</summary>
internal sealed record ServerSettings
{
    public required string Model { get; init; }

    /// <summary>A reranker (directory or hub id) served at <c>POST /rerank</c>, or <see langword="null"/>.</summary>
    public string? Reranker { get; init; }

    public string Host { get; init; } = "127.0.0.1";

    public int Port { get; init; } = 8080;

    /// <summary>How the embedding model loads: dtype, and the hub revision of a hub id.</summary>
    public ModelLoadOptions Load { get; init; } = new();

    /// <summary>How the reranker loads: the same dtype, its own hub revision.</summary>
    public ModelLoadOptions RerankerLoad { get; init; } = new();

    public EmbeddingOptions Embedding { get; init; } = new();

    public EmbeddingServerOptions Server { get; init; } = new();

    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public bool JsonLogs { get; init; }

    /// <summary>Copies the server options onto the options instance the host configures.</summary>
    public void ApplyTo(EmbeddingServerOptions target)
    {
        target.ServedModelName = Server.ServedModelName;
        target.RequireMatchingModelName = Server.RequireMatchingModelName;
        target.ApiKey = Server.ApiKey;
        target.MaxConcurrentRequests = Server.MaxConcurrentRequests;
        target.MaxClientBatchSize = Server.MaxClientBatchSize;
        target.MaxRequestBodyBytes = Server.MaxRequestBodyBytes;
        target.AutoTruncate = Server.AutoTruncate;
        target.DefaultInputType = Server.DefaultInputType;
        target.CrossRequestBatching = Server.CrossRequestBatching;
        target.RetryAfterSeconds = Server.RetryAfterSeconds;
    }

    /// <summary>Parses a role name as the API does.</summary>
    public static TextRole ParseRole(string name) => name.ToLowerInvariant() switch
    {
        "query" => TextRole.Query,
        "document" => TextRole.Document,
        _ => throw new ArgumentException($"expected query or document, not '{name}'."),
    };
}
