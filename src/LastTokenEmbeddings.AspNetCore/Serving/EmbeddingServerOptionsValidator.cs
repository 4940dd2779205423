using Microsoft.Extensions.Options;

namespace LastTokenEmbeddings.AspNetCore.Serving;

/// <summary>Checks <see cref="EmbeddingServerOptions"/> when the host starts, with messages naming each option.</summary>
internal sealed class EmbeddingServerOptionsValidator : IValidateOptions<EmbeddingServerOptions>
{
    /// <summary>The largest payload limit accepted (the body is buffered in memory to be parsed).</summary>
    public const long MaxPayloadLimit = 1L << 30;

    public ValidateOptionsResult Validate(string? name, EmbeddingServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.MaxConcurrentRequests < 1)
            errors.Add($"EmbeddingServerOptions.MaxConcurrentRequests must be at least 1, not {options.MaxConcurrentRequests}.");
        if (options.MaxClientBatchSize < 1)
            errors.Add($"EmbeddingServerOptions.MaxClientBatchSize must be at least 1, not {options.MaxClientBatchSize}.");
        if (options.MaxRequestBodyBytes is < 1 or > MaxPayloadLimit)
            errors.Add($"EmbeddingServerOptions.MaxRequestBodyBytes must lie in [1, {MaxPayloadLimit}], not {options.MaxRequestBodyBytes}.");
        if (options.RetryAfterSeconds is < 0 or > 3600)
            errors.Add($"EmbeddingServerOptions.RetryAfterSeconds must lie in [0, 3600], not {options.RetryAfterSeconds}.");
        if (!Enum.IsDefined(options.DefaultInputType))
            errors.Add($"EmbeddingServerOptions.DefaultInputType {options.DefaultInputType} is not a known role.");
        if (options.ServedModelName is { } served && string.IsNullOrWhiteSpace(served))
            errors.Add("EmbeddingServerOptions.ServedModelName must not be blank; leave it null to use the model's id.");
        if (options.ApiKey is { } key && (key.Length == 0 || key.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
            errors.Add("EmbeddingServerOptions.ApiKey must be non-empty without whitespace or control characters; leave it null to disable authentication.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
