namespace LastTokenEmbeddings.AspNetCore.Http;

/// <summary>What went wrong with a request; each API dialect turns it into its own status code and error body.</summary>
internal enum ApiErrorKind
{
    /// <summary>The inputs are an empty list (TEI's <c>Empty</c>, 400).</summary>
    Empty,

    /// <summary>A field has the wrong type or value, or an input is too long (TEI 422, OpenAI 400).</summary>
    Validation,

    /// <summary>The body is not JSON at all (400).</summary>
    InvalidJson,

    /// <summary>The body is larger than the payload limit (413).</summary>
    PayloadTooLarge,

    /// <summary>More inputs than the per-request limit (413).</summary>
    TooManyInputs,

    /// <summary>The concurrency limit is reached (429 with Retry-After).</summary>
    Overloaded,

    /// <summary>Missing or wrong API key (401).</summary>
    Unauthorized,

    /// <summary>The request names a model this server does not serve (OpenAI 404).</summary>
    ModelNotFound,

    /// <summary>The body is declared as something other than JSON (415).</summary>
    UnsupportedMediaType,

    /// <summary>The server is shutting down or the model is gone (503).</summary>
    Unavailable,

    /// <summary>The model failed on a well-formed request (TEI 424, OpenAI 500).</summary>
    Backend,
}

/// <summary>A request that cannot be served, with a message safe to show the client (it never echoes input text).</summary>
/// <param name="kind">What went wrong.</param>
/// <param name="message">The client-facing message.</param>
/// <param name="param">The request field at fault (OpenAI's <c>param</c>), if any.</param>
/// <param name="code">A machine-readable code (OpenAI's <c>code</c>), if any.</param>
internal sealed class ApiException(ApiErrorKind kind, string message, string? param = null, string? code = null) : Exception(message)
{
    public ApiErrorKind Kind { get; } = kind;

    public string? Param { get; } = param;

    public string? Code { get; } = code;

    /// <summary>The over-long-input error, worded as TEI words it.</summary>
    /// <param name="tokens">The input's token count.</param>
    /// <param name="maxTokens">The model's limit.</param>
    public static ApiException InputTooLong(int tokens, int maxTokens) => new(ApiErrorKind.Validation,
        $"Input validation error: `inputs` must have less than {maxTokens} tokens. Given: {tokens}", "input", "context_length_exceeded");
}
