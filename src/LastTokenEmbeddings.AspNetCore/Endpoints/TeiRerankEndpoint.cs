using System.Text.Json;
using LastTokenEmbeddings.AspNetCore.Http;
using LastTokenEmbeddings.Reranking;
using Microsoft.AspNetCore.Http;

namespace LastTokenEmbeddings.AspNetCore.Endpoints;

/// <summary>
/// TEI's <c>POST /rerank</c> over a registered <see cref="IReranker"/>: <c>query</c>, <c>texts</c>, <c>raw_scores</c>
/// (log-odds instead of probabilities), <c>return_text</c>, plus the extension <c>instruction</c>. Returns
/// <c>[{index, score[, text]}]</c> sorted by score, highest first.
/// </summary>
internal sealed class TeiRerankEndpoint(EndpointRunner runner, IReranker reranker)
{
    public static EndpointSpec Spec { get; } = new("rerank", ApiDialect.Tei);

    public Task HandleAsync(HttpContext context) => runner.RunAsync(context, Spec, HandleCoreAsync);

    private async Task HandleCoreAsync(HttpContext context, RequestTrace trace)
    {
        var options = runner.Options;
        using var document = await JsonRequest.ReadObjectAsync(context.Request, options.MaxRequestBodyBytes, context.RequestAborted).ConfigureAwait(false);
        var body = document.RootElement;
        var query = JsonFields.Required(body, "query");
        if (query.ValueKind != JsonValueKind.String)
            throw new ApiException(ApiErrorKind.Validation, "`query` must be a string.", "query");
        var textsField = JsonFields.Required(body, "texts");
        if (textsField.ValueKind != JsonValueKind.Array || textsField.EnumerateArray().Any(t => t.ValueKind != JsonValueKind.String))
            throw new ApiException(ApiErrorKind.Validation, "`texts` must be an array of strings.", "texts");
        var count = textsField.GetArrayLength();
        if (count == 0)
            throw new ApiException(ApiErrorKind.Empty, "`texts` cannot be empty", "texts");
        if (count > options.MaxClientBatchSize)
            throw new ApiException(ApiErrorKind.TooManyInputs, $"batch size {count} > maximum allowed batch size {options.MaxClientBatchSize}", "texts");
        var texts = textsField.EnumerateArray().Select(t => t.GetString()!).ToArray();
        var rawScores = JsonFields.OptionalBool(body, "raw_scores") ?? false;
        var returnText = JsonFields.OptionalBool(body, "return_text") ?? false;
        var instruction = JsonFields.OptionalString(body, "instruction");
        if (instruction is not null && string.IsNullOrWhiteSpace(instruction))
            throw new ApiException(ApiErrorKind.Validation, "`instruction` must not be empty.", "instruction");

        RerankResult result;
        using (runner.Admit())
            result = await reranker.RerankAsync(query.GetString()!, texts, instruction, context.RequestAborted).ConfigureAwait(false);
        trace.Inputs = texts.Length;

        await JsonResponse.WriteAsync(context.Response, writer =>
        {
            writer.WriteStartArray();
            foreach (var ranked in result.Ranking)
            {
                writer.WriteStartObject();
                writer.WriteNumber("index", ranked.Index);
                writer.WriteNumber("score", rawScores ? ranked.LogOdds : ranked.Score);
                if (returnText)
                    writer.WriteString("text", texts[ranked.Index]);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            return Task.CompletedTask;
        }).ConfigureAwait(false);
    }
}
