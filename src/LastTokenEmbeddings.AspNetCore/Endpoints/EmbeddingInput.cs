using System.Text.Json;
using LastTokenEmbeddings.AspNetCore.Http;

namespace LastTokenEmbeddings.AspNetCore.Endpoints;

/// <summary>One input of an embedding request: a text, or token ids given directly.</summary>
/// <param name="Text">The text, or <see langword="null"/> for token ids.</param>
/// <param name="Ids">The token ids, or <see langword="null"/> for a text.</param>
internal readonly record struct EmbeddingInput(string? Text, int[]? Ids)
{
    /// <summary>Characters (text) or ids (token input), as TEI counts "compute characters".</summary>
    public int Length => Text?.Length ?? Ids!.Length;

    /// <summary>
    /// Parses OpenAI's <c>input</c> or TEI's <c>inputs</c>: a string, an array of token ids (one input), or an array
    /// whose items are strings or arrays of token ids (TEI accepts mixing the two; so does this server).
    /// </summary>
    /// <param name="value">The field's value.</param>
    /// <param name="field">The field's name, for error messages.</param>
    /// <param name="maxInputs">The per-request input limit.</param>
    public static EmbeddingInput[] Parse(JsonElement value, string field, int maxInputs)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return [new EmbeddingInput(value.GetString()!, null)];
            case JsonValueKind.Array:
                var count = value.GetArrayLength();
                if (count == 0)
                    throw new ApiException(ApiErrorKind.Empty, $"`{field}` cannot be empty", field);
                if (value[0].ValueKind == JsonValueKind.Number)
                    return [new EmbeddingInput(null, ParseIds(value, field))];
                if (count > maxInputs)
                    throw new ApiException(ApiErrorKind.TooManyInputs, $"batch size {count} > maximum allowed batch size {maxInputs}", field);
                var inputs = new EmbeddingInput[count];
                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    inputs[index] = item.ValueKind switch
                    {
                        JsonValueKind.String => new EmbeddingInput(item.GetString()!, null),
                        JsonValueKind.Array => new EmbeddingInput(null, ParseIds(item, $"{field}[{index}]")),
                        _ => throw Malformed(field),
                    };
                    index++;
                }
                return inputs;
            default:
                throw Malformed(field);
        }
    }

    private static int[] ParseIds(JsonElement array, string field)
    {
        var ids = new int[array.GetArrayLength()];
        if (ids.Length == 0)
            throw new ApiException(ApiErrorKind.Validation, $"`{field}` is an empty token sequence.", field);
        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out var id) || id < 0)
                throw new ApiException(ApiErrorKind.Validation, $"`{field}` must hold token ids: non-negative integers.", field);
            ids[index++] = id;
        }
        return ids;
    }

    private static ApiException Malformed(string field) => new(ApiErrorKind.Validation,
        $"`{field}` must be a string, an array of strings, an array of token ids, or an array of arrays of token ids.", field);
}
