using System.CommandLine;
using System.Globalization;
using LastTokenEmbeddings.Cli.Output;
using LastTokenEmbeddings.Reranking;
using Spectre.Console;

namespace LastTokenEmbeddings.Cli.Commands;

/// <summary><c>lte rerank</c>: scores documents against a query with a yes/no decoder reranker (Qwen3-Reranker).</summary>
internal static class RerankCommand
{
    public static Command Create(CliContext context)
    {
        var model = CliOptions.Model();
        var revision = CliOptions.Revision();
        var dtype = CliOptions.DType();
        var format = CliOptions.Format();
        var maxTokens = CliOptions.MaxTokens();
        var query = new Option<string>("--query", "-q") { Description = "The query.", Required = true, HelpName = "TEXT" };
        var documents = new Option<string[]>("--document", "-d")
        {
            Description = "A document to score (repeat for several).",
            HelpName = "TEXT",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var input = CliOptions.Input();
        var instruction = new Option<string?>("--instruction")
        {
            Description = $"Task instruction. Default: \"{RerankPromptFormat.DefaultInstruction}\".",
            HelpName = "TEXT",
        };

        var command = new Command("rerank", "Score documents (--document, repeated, and/or --input FILE) against --query with a decoder reranker (Qwen3-Reranker format), highest first.");
        command.AddOptions(model, revision, query, documents, input, instruction, dtype, maxTokens, format);
        command.SetAction(async (result, ct) =>
        {
            var task = result.GetValue(instruction);
            if (task is not null && string.IsNullOrWhiteSpace(task))
                throw new UsageException("--instruction must not be empty.");
            var all = TextInput.Collect(result.GetValue(documents), result.GetValue(input), context.In);
            var directory = ModelLocator.Resolve(result.GetValue(model), context, result.GetValue(revision));
            using var reranker = Reranker.Load(directory, new RerankerOptions { MaxTokens = result.GetValue(maxTokens) },
                new Checkpoints.ModelLoadOptions { DType = CliOptions.ParseDType(result.GetValue(dtype)!) });
            var scores = await reranker.RerankAsync(result.GetValue(query)!, all, task, ct).ConfigureAwait(false);
            if (CliOptions.IsJson(result.GetValue(format)!))
            {
                JsonOutput.Write(context.Out, w =>
                {
                    w.WriteString("model", reranker.ModelId);
                    w.WriteStartArray("results");
                    foreach (var ranked in scores.Ranking)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("index", ranked.Index);
                        w.WritePropertyName("score");
                        JsonOutput.WriteFloat(w, ranked.Score);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                });
            }
            else
            {
                var table = new Table()
                    .Title($"{Markup.Escape(reranker.ModelId)} · {reranker.Format.Name}")
                    .AddColumn(new TableColumn("Rank").RightAligned())
                    .AddColumn(new TableColumn("#").RightAligned())
                    .AddColumn(new TableColumn("Score").RightAligned())
                    .AddColumn("Document");
                var rank = 1;
                foreach (var ranked in scores.Ranking)
                {
                    table.AddRow((rank++).ToString(CultureInfo.InvariantCulture), ranked.Index.ToString(CultureInfo.InvariantCulture),
                        TextFormat.Number(ranked.Score), TextFormat.Preview(all[ranked.Index]));
                }
                context.CreateOutConsole().Write(table);
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
