using System.Text.Json;
using LastTokenEmbeddings.AspNetCore.Http;
using LastTokenEmbeddings.AspNetCore.Serving;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Tokenization;
using Microsoft.AspNetCore.Http;

namespace LastTokenEmbeddings.AspNetCore.Endpoints;

/// <summary>
/// TEI's <c>POST /tokenize</c>: <c>inputs</c> (string or strings), <c>add_special_tokens</c> (default true),
/// <c>prompt_name</c>, plus <c>input_type</c>. Returns one list of <c>{id, text, special, start, stop}</c> per input.
/// With <c>add_special_tokens</c> the ids are exactly those the decoder sees (prompt format, BOS/EOS, truncation to
/// the model's limit); without, the ids of the text alone (after a named prompt). The tokenizer keeps no character
/// offsets, so <c>start</c> and <c>stop</c> are null and <c>text</c> is each id decoded on its own.
/// </summary>
internal sealed class TeiTokenizeEndpoint(EndpointRunner runner, ServedModel served)
{
    public static EndpointSpec Spec { get; } = new("tokenize", ApiDialect.Tei);

    public Task HandleAsync(HttpContext context) => runner.RunAsync(context, Spec, HandleCoreAsync);

    private async Task HandleCoreAsync(HttpContext context, RequestTrace trace)
    {
        var options = runner.Options;
        using var document = await JsonRequest.ReadObjectAsync(context.Request, options.MaxRequestBodyBytes, context.RequestAborted).ConfigureAwait(false);
        var body = document.RootElement;
        var texts = ParseTexts(JsonFields.Required(body, "inputs"), options.MaxClientBatchSize);
        var addSpecialTokens = JsonFields.OptionalBool(body, "add_special_tokens") ?? true;
        var promptName = RequestFields.PromptName(body, served.DeclaredPrompts);
        var call = new EmbeddingCallOptions
        {
            Role = RequestFields.Role(body, context.Request, options.DefaultInputType),
            PromptName = promptName,
            Truncation = TruncationPolicy.Truncate,
        };
        var tokenizer = served.Tokenizer;
        if (!addSpecialTokens && tokenizer is null)
            throw new ApiException(ApiErrorKind.Validation, "`add_special_tokens: false` needs the model's tokenizer, which this model does not expose.", "add_special_tokens");

        var tokenized = texts.Select(text => addSpecialTokens
            ? served.Model.Tokenize(text, call)
            : tokenizer!.Encode(PromptText(promptName) + text, addSpecialTokens: false)).ToArray();
        trace.Inputs = texts.Length;
        trace.Tokens = tokenized.Sum(ids => (long)ids.Length);

        await JsonResponse.WriteAsync(context.Response, async writer =>
        {
            writer.WriteStartArray();
            foreach (var ids in tokenized)
            {
                writer.WriteStartArray();
                foreach (var id in ids)
                {
                    writer.WriteStartObject();
                    writer.WriteNumber("id", id);
                    writer.WriteString("text", tokenizer?.Decode([id], skipSpecialTokens: false) ?? "");
                    writer.WriteBoolean("special", tokenizer?.IsSpecial(id) ?? false);
                    writer.WriteNull("start");
                    writer.WriteNull("stop");
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
                await JsonResponse.FlushIfFullAsync(writer, context.RequestAborted).ConfigureAwait(false);
            }
            writer.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private string PromptText(string? promptName) => promptName is null ? "" : served.DeclaredPrompts![promptName];

    private static string[] ParseTexts(JsonElement value, int maxInputs)
    {
        if (value.ValueKind == JsonValueKind.String)
            return [value.GetString()!];
        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(item => item.ValueKind != JsonValueKind.String))
            throw new ApiException(ApiErrorKind.Validation, "`inputs` must be a string or an array of strings.", "inputs");
        var count = value.GetArrayLength();
        if (count == 0)
            throw new ApiException(ApiErrorKind.Empty, "`inputs` cannot be empty", "inputs");
        if (count > maxInputs)
            throw new ApiException(ApiErrorKind.TooManyInputs, $"batch size {count} > maximum allowed batch size {maxInputs}", "inputs");
        return [.. value.EnumerateArray().Select(item => item.GetString()!)];
    }
}
