using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace LastTokenEmbeddings.AspNetCore.Http;

/// <summary>Reads a request body as one JSON object, enforcing the payload limit before and while reading.</summary>
internal static class JsonRequest
{
    /// <summary>The body parsed as a JSON object; the caller disposes the document.</summary>
    /// <param name="request">The request.</param>
    /// <param name="maxBytes">The payload limit.</param>
    /// <param name="cancellationToken">The request's abort token.</param>
    public static async Task<JsonDocument> ReadObjectAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(request.ContentType) && !IsJson(request.ContentType))
            throw new ApiException(ApiErrorKind.UnsupportedMediaType, "Expected request with `Content-Type: application/json`.");
        if (request.ContentLength > maxBytes)
            throw TooLarge(maxBytes);
        // Let the server stop reading a lying or chunked body at the limit too.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit)
            sizeLimit.MaxRequestBodySize = maxBytes;

        var body = await ReadBodyAsync(request, maxBytes, cancellationToken).ConfigureAwait(false);
        if (body.Span.StartsWith("\uFEFF"u8))
            body = body[3..]; // a UTF-8 byte-order mark, which some clients send and the JSON reader refuses
        if (body.Length == 0)
            throw new ApiException(ApiErrorKind.InvalidJson, "The request body is empty; expected a JSON object.");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw new ApiException(ApiErrorKind.InvalidJson, "The request body is not valid JSON: " + e.Message);
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new ApiException(ApiErrorKind.Validation, "The request body must be a JSON object.");
        }
        return document;
    }

    private static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        var buffer = new byte[(int)Math.Min(request.ContentLength ?? 16 * 1024, maxBytes) + 1];
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > maxBytes)
                        throw TooLarge(maxBytes);
                    Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, maxBytes + 1));
                }
                var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                    break;
                length += read;
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(maxBytes);
        }
        if (length > maxBytes)
            throw TooLarge(maxBytes);
        return buffer.AsMemory(0, length);
    }

    private static ApiException TooLarge(long maxBytes) =>
        new(ApiErrorKind.PayloadTooLarge, $"The request body exceeds the payload limit of {maxBytes} bytes.");

    private static bool IsJson(string contentType)
    {
        var mediaType = contentType.Split(';', 2)[0].Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>Typed access to optional fields of a request object, with errors that name the field.</summary>
internal static class JsonFields
{
    /// <summary>The field's value; <see langword="null"/> when absent or JSON null.</summary>
    public static JsonElement? Find(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public static JsonElement Required(JsonElement body, string name) =>
        Find(body, name) ?? throw new ApiException(ApiErrorKind.Validation, $"Missing required field `{name}`.", name);

    public static string? OptionalString(JsonElement body, string name) => Find(body, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        _ => throw new ApiException(ApiErrorKind.Validation, $"`{name}` must be a string.", name),
    };

    public static bool? OptionalBool(JsonElement body, string name) => Find(body, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw new ApiException(ApiErrorKind.Validation, $"`{name}` must be true or false.", name),
    };

    public static int? OptionalPositiveInt(JsonElement body, string name) => Find(body, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } value when value.TryGetInt32(out var number) && number > 0 => number,
        _ => throw new ApiException(ApiErrorKind.Validation, $"`{name}` must be a positive integer.", name),
    };
}
