using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace LastTokenEmbeddings.AspNetCore.Http;

/// <summary>
/// How one family of routes reports errors: OpenAI's <c>{"error":{"message","type","param","code"}}</c> or TEI's
/// <c>{"error","error_type"}</c>, each with its own status codes.
/// </summary>
internal abstract class ApiDialect
{
    /// <summary>The OpenAI routes (<c>/v1/embeddings</c>, <c>/v1/models</c>).</summary>
    public static ApiDialect OpenAI { get; } = new OpenAIDialect();

    /// <summary>The Text Embeddings Inference routes (<c>/embed</c>, <c>/tokenize</c>, <c>/info</c>, <c>/health</c>).</summary>
    public static ApiDialect Tei { get; } = new TeiDialect();

    public abstract int StatusCode(ApiErrorKind kind);

    protected abstract void WriteBody(Utf8JsonWriter writer, ApiException error);

    /// <summary>Writes the error response (status, headers, JSON body).</summary>
    public async Task WriteAsync(HttpResponse response, ApiException error, int retryAfterSeconds)
    {
        response.StatusCode = StatusCode(error.Kind);
        response.ContentType = "application/json";
        if (error.Kind == ApiErrorKind.Overloaded)
            response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        if (error.Kind == ApiErrorKind.Unauthorized)
            response.Headers.WWWAuthenticate = "Bearer";
        await using var writer = new Utf8JsonWriter(response.BodyWriter, JsonResponse.WriterOptions);
        WriteBody(writer, error);
        await writer.FlushAsync(CancellationToken.None).ConfigureAwait(false);
    }

    private sealed class OpenAIDialect : ApiDialect
    {
        public override int StatusCode(ApiErrorKind kind) => kind switch
        {
            ApiErrorKind.Empty or ApiErrorKind.Validation or ApiErrorKind.InvalidJson => StatusCodes.Status400BadRequest,
            ApiErrorKind.PayloadTooLarge or ApiErrorKind.TooManyInputs => StatusCodes.Status413PayloadTooLarge,
            ApiErrorKind.Overloaded => StatusCodes.Status429TooManyRequests,
            ApiErrorKind.Unauthorized => StatusCodes.Status401Unauthorized,
            ApiErrorKind.ModelNotFound => StatusCodes.Status404NotFound,
            ApiErrorKind.UnsupportedMediaType => StatusCodes.Status415UnsupportedMediaType,
            ApiErrorKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
            _ => StatusCodes.Status500InternalServerError,
        };

        protected override void WriteBody(Utf8JsonWriter writer, ApiException error)
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error");
            writer.WriteString("message", error.Message);
            writer.WriteString("type", error.Kind switch
            {
                ApiErrorKind.Overloaded => "requests", // OpenAI names the exhausted limit: requests (or tokens)
                ApiErrorKind.Unavailable or ApiErrorKind.Backend => "server_error",
                _ => "invalid_request_error",
            });
            WriteNullable(writer, "param", error.Param);
            WriteNullable(writer, "code", error.Code ?? error.Kind switch
            {
                ApiErrorKind.Overloaded => "rate_limit_exceeded",
                ApiErrorKind.Unauthorized => "invalid_api_key",
                ApiErrorKind.ModelNotFound => "model_not_found",
                _ => null,
            });
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        private static void WriteNullable(Utf8JsonWriter writer, string name, string? value)
        {
            if (value is null)
                writer.WriteNull(name);
            else
                writer.WriteString(name, value);
        }
    }

    private sealed class TeiDialect : ApiDialect
    {
        public override int StatusCode(ApiErrorKind kind) => kind switch
        {
            ApiErrorKind.Empty or ApiErrorKind.InvalidJson => StatusCodes.Status400BadRequest,
            ApiErrorKind.Validation or ApiErrorKind.ModelNotFound => StatusCodes.Status422UnprocessableEntity,
            ApiErrorKind.PayloadTooLarge or ApiErrorKind.TooManyInputs => StatusCodes.Status413PayloadTooLarge,
            ApiErrorKind.Overloaded => StatusCodes.Status429TooManyRequests,
            ApiErrorKind.Unauthorized => StatusCodes.Status401Unauthorized,
            ApiErrorKind.UnsupportedMediaType => StatusCodes.Status415UnsupportedMediaType,
            ApiErrorKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
            _ => StatusCodes.Status424FailedDependency, // TEI reports backend (model) failures as 424
        };

        protected override void WriteBody(Utf8JsonWriter writer, ApiException error)
        {
            writer.WriteStartObject();
            writer.WriteString("error", error.Message);
            // TEI serialises its ErrorType variants by name: "Validation", "Overloaded", ...
            writer.WriteString("error_type", error.Kind switch
            {
                ApiErrorKind.Empty => "Empty",
                ApiErrorKind.Overloaded => "Overloaded",
                ApiErrorKind.Unavailable => "Unhealthy",
                ApiErrorKind.Backend => "Backend",
                ApiErrorKind.Unauthorized => "Unauthorized",
                _ => "Validation",
            });
            writer.WriteEndObject();
        }
    }
}
