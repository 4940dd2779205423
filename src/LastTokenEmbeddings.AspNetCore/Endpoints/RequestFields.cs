using System.Text.Json;
using LastTokenEmbeddings.AspNetCore.Http;
using LastTokenEmbeddings.Tokenization;
using Microsoft.AspNetCore.Http;

namespace LastTokenEmbeddings.AspNetCore.Endpoints;

/// <summary>Request fields the embedding routes share: the role extension and TEI's truncation direction.</summary>
internal static class RequestFields
{
    /// <summary>The header that carries the role when the body cannot (e.g. from an unmodified OpenAI client).</summary>
    public const string InputTypeHeader = "X-Input-Type";

    /// <summary>
    /// The role of a request's inputs: the body's <c>input_type</c>, else the <c>X-Input-Type</c> header, else the
    /// server default. Accepts <c>query</c>/<c>search_query</c> and <c>document</c>/<c>search_document</c>/<c>passage</c>.
    /// </summary>
    public static TextRole Role(JsonElement body, HttpRequest request, TextRole defaultRole)
    {
        var fromBody = JsonFields.OptionalString(body, "input_type");
        var fromHeader = request.Headers[InputTypeHeader].ToString();
        var value = fromBody ?? (fromHeader.Length > 0 ? fromHeader : null);
        if (value is null)
            return defaultRole;
        return value.ToLowerInvariant() switch
        {
            "query" or "search_query" => TextRole.Query,
            "document" or "search_document" or "passage" => TextRole.Document,
            _ => throw new ApiException(ApiErrorKind.Validation,
                $"`input_type` must be `query` or `document` (also accepted: `search_query`, `search_document`, `passage`).", "input_type"),
        };
    }

    /// <summary>TEI's <c>truncation_direction</c>: <c>Right</c> (default) or <c>Left</c>, either case.</summary>
    public static TruncationDirection Direction(JsonElement body) => JsonFields.OptionalString(body, "truncation_direction") switch
    {
        null => TruncationDirection.Right,
        "Right" or "right" => TruncationDirection.Right,
        "Left" or "left" => TruncationDirection.Left,
        _ => throw new ApiException(ApiErrorKind.Validation, "`truncation_direction` must be `Right` or `Left`.", "truncation_direction"),
    };

    /// <summary>
    /// TEI's <c>prompt_name</c>, checked against the prompts the checkpoint declares (<paramref name="declared"/>
    /// <see langword="null"/>: unknown here, the model checks).
    /// </summary>
    public static string? PromptName(JsonElement body, IReadOnlyDictionary<string, string>? declared)
    {
        var name = JsonFields.OptionalString(body, "prompt_name");
        if (name is null || declared is null || declared.ContainsKey(name))
            return name;
        throw new ApiException(ApiErrorKind.Validation, declared.Count == 0
            ? $"Prompt `{name}` does not exist: the model declares no prompts."
            : $"Prompt `{name}` does not exist; the model declares: {string.Join(", ", declared.Keys.Order(StringComparer.Ordinal))}.", "prompt_name");
    }
}
