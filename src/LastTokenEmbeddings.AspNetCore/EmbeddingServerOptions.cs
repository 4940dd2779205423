using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.AspNetCore;

/// <summary>
/// Limits, authentication and defaults of the embedding endpoints (<see cref="Microsoft.AspNetCore.Builder.EmbeddingEndpointRouteBuilderExtensions.MapEmbeddings"/>).
/// Validated when the host starts; a bad value stops start-up with a message naming the option.
/// </summary>
public sealed class EmbeddingServerOptions
{
    /// <summary>
    /// The model name clients send and responses report (OpenAI's <c>model</c>, TEI's <c>served_model_name</c>);
    /// <see langword="null"/>: the model's <see cref="Embeddings.IEmbeddingModel.ModelId"/>.
    /// </summary>
    public string? ServedModelName { get; set; }

    /// <summary>
    /// Whether an OpenAI request whose <c>model</c> names neither <see cref="ServedModelName"/> nor the model's id is
    /// refused (404 <c>model_not_found</c>, the default). <see langword="false"/> accepts any name, as TEI does.
    /// A request without <c>model</c> is always accepted.
    /// </summary>
    public bool RequireMatchingModelName { get; set; } = true;

    /// <summary>
    /// When set, every embedding, tokenize and info request must carry <c>Authorization: Bearer {ApiKey}</c>
    /// (401 otherwise); <c>/health</c> and <c>/metrics</c> stay open, as in TEI.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Requests admitted at once, waiting in the model's queue or being embedded. Requests past this limit are refused
    /// at once with 429 and <c>Retry-After</c>; admitted requests arriving together share forward passes.
    /// </summary>
    public int MaxConcurrentRequests { get; set; } = 512;

    /// <summary>Most inputs in one request (texts or token-id sequences); more is refused with 413.</summary>
    public int MaxClientBatchSize { get; set; } = 256;

    /// <summary>Largest request body in bytes; a larger one is refused with 413 before it is parsed.</summary>
    public long MaxRequestBodyBytes { get; set; } = 2_000_000;

    /// <summary>
    /// Whether inputs longer than the model's token limit are cut (per request on <c>/embed</c> with <c>truncate</c>;
    /// always on <c>/v1/embeddings</c>). <see langword="false"/> (default): an over-long input is refused with 422/400.
    /// </summary>
    public bool AutoTruncate { get; set; }

    /// <summary>The role of inputs whose request names none (<c>input_type</c> or the <c>X-Input-Type</c> header).</summary>
    public TextRole DefaultInputType { get; set; } = TextRole.Query;

    /// <summary>
    /// Whether concurrent requests share forward passes (default). <see langword="false"/> embeds one request at a
    /// time, the others waiting their turn: for comparisons and for deployments that need per-request isolation.
    /// </summary>
    public bool CrossRequestBatching { get; set; } = true;

    /// <summary>The <c>Retry-After</c> seconds sent with 429 responses.</summary>
    public int RetryAfterSeconds { get; set; } = 1;
}
