using LastTokenEmbeddings.AspNetCore.Http;
using LastTokenEmbeddings.AspNetCore.Serving;
using LastTokenEmbeddings.Tokenization;
using Microsoft.AspNetCore.Http;

namespace LastTokenEmbeddings.AspNetCore.Endpoints;

/// <summary>
/// OpenAI's <c>POST /v1/embeddings</c>: <c>input</c> (string, strings, token ids, arrays of token ids), <c>model</c>,
/// <c>dimensions</c>, <c>encoding_format</c> (<c>float</c> or <c>base64</c>), plus the <c>input_type</c> extension.
/// </summary>
internal sealed class OpenAIEmbeddingsEndpoint(EndpointRunner runner, ServedModel served)
{
    public static EndpointSpec Spec { get; } = new("openai_embeddings", ApiDialect.OpenAI);

    public Task HandleAsync(HttpContext context) => runner.RunAsync(context, Spec, HandleCoreAsync);

    private async Task HandleCoreAsync(HttpContext context, RequestTrace trace)
    {
        var options = runner.Options;
        var aborted = context.RequestAborted;
        using var document = await JsonRequest.ReadObjectAsync(context.Request, options.MaxRequestBodyBytes, aborted).ConfigureAwait(false);
        var body = document.RootElement;
        CheckModel(JsonFields.OptionalString(body, "model"));
        var inputs = EmbeddingInput.Parse(JsonFields.Required(body, "input"), "input", options.MaxClientBatchSize);
        var base64 = JsonFields.OptionalString(body, "encoding_format") switch
        {
            null or "float" => false,
            "base64" => true,
            _ => throw new ApiException(ApiErrorKind.Validation, "`encoding_format` must be `float` or `base64`.", "encoding_format"),
        };
        var settings = new EmbedSettings(
            Role: RequestFields.Role(body, context.Request, options.DefaultInputType),
            PromptName: null,
            Truncate: options.AutoTruncate,
            Direction: TruncationDirection.Right,
            Normalize: served.Model.Normalize, // the vectors the library gives, cut to `dimensions` and re-normalised
            Dimensions: JsonFields.OptionalPositiveInt(body, "dimensions"));

        EmbedOutcome outcome;
        using (runner.Admit())
            outcome = await served.EmbedAsync(inputs, settings, aborted).ConfigureAwait(false);

        runner.RecordEmbedding(trace, inputs.Length, outcome.PromptTokens);
        trace.WriteComputeHeaders(context.Response, inputs.Sum(input => (long)input.Length));
        await JsonResponse.WriteAsync(context.Response, async writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "list");
            writer.WriteStartArray("data");
            for (var i = 0; i < outcome.Vectors.Length; i++)
            {
                writer.WriteStartObject();
                writer.WriteString("object", "embedding");
                writer.WriteNumber("index", i);
                writer.WritePropertyName("embedding");
                if (base64)
                    JsonResponse.WriteBase64Floats(writer, outcome.Vectors[i]);
                else
                    JsonResponse.WriteFloats(writer, outcome.Vectors[i]);
                writer.WriteEndObject();
                await JsonResponse.FlushIfFullAsync(writer, aborted).ConfigureAwait(false);
            }
            writer.WriteEndArray();
            writer.WriteString("model", served.ServedName);
            writer.WriteStartObject("usage");
            writer.WriteNumber("prompt_tokens", outcome.PromptTokens);
            writer.WriteNumber("total_tokens", outcome.PromptTokens);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>An absent <c>model</c> is fine; a named one must be this server's unless any name is accepted.</summary>
    private void CheckModel(string? requested)
    {
        if (string.IsNullOrEmpty(requested) || !runner.Options.RequireMatchingModelName)
            return;
        if (requested == served.ServedName || requested == served.Model.ModelId)
            return;
        var shown = requested.Length > 100 ? requested[..100] + "…" : requested;
        throw new ApiException(ApiErrorKind.ModelNotFound,
            $"The model `{shown}` does not exist; this server serves `{served.ServedName}`.", "model", "model_not_found");
    }
}
