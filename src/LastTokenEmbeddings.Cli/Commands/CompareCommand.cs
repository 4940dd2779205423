using System.CommandLine;
using System.Globalization;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Cli.Output;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Similarity;
using LastTokenEmbeddings.Tokenization;
using Spectre.Console;

namespace LastTokenEmbeddings.Cli.Commands;

/// <summary>
/// <c>lte compare</c>: the article's experiment. A query × document cosine matrix for each pooling and prompt format,
/// and the separation: mean similarity of matched pairs (query i, document i) minus mean of mismatched pairs.
/// </summary>
internal static class CompareCommand
{
    public static readonly string[] DefaultPoolings = ["last-token-logits", "last-token-hidden", "mean"];
    public static readonly string[] DefaultPrompts = ["mistral-instruct"];
    public static readonly string[] DefaultQueries = ["Where is the headquarter of OpenAI?", "What is GPU?"];
    public static readonly string[] DefaultDocuments =
    [
        "OpenAI is based at San Francisco.",
        "A graphics processing unit (GPU) is an electronic circuit that can perform mathematical calculations quickly",
    ];

    /// <summary>One pooling × prompt run.</summary>
    public sealed record Result(string Pooling, string Prompt, float[,] Matrix, double Separation);

    public static Command Create(CliContext context)
    {
        var shared = new ModelOptionSet();
        var pooling = new Option<string[]>("--pooling", "-p")
        {
            Description = $"Pooling(s) to compare, side by side: {string.Join('|', PoolingStrategies.Names)}; repeat or separate with commas. Default: {string.Join(",", DefaultPoolings)}.",
            HelpName = "NAME",
            Arity = ArgumentArity.OneOrMore,
        };
        var prompt = new Option<string[]>("--prompt")
        {
            Description = $"Prompt format(s): {string.Join('|', CliOptions.PromptNames)}; repeat or separate with commas. Default: {string.Join(",", DefaultPrompts)}.",
            HelpName = "FORMAT",
            Arity = ArgumentArity.OneOrMore,
        };
        CliOptions.AddChoiceValidator(pooling, PoolingStrategies.Names);
        CliOptions.AddChoiceValidator(prompt, CliOptions.PromptNames);
        var queries = new Option<string[]>("--query", "-q")
        {
            Description = "A query (repeatable); replaces the default queries. Query i is matched with document i.",
            HelpName = "TEXT",
            Arity = ArgumentArity.OneOrMore,
        };
        var documents = new Option<string[]>("--document", "-d")
        {
            Description = "A document (repeatable); replaces the default documents. As many as queries.",
            HelpName = "TEXT",
            Arity = ArgumentArity.OneOrMore,
        };

        var command = new Command("compare",
            "The article's experiment: query × document cosine matrices for several poolings and prompt formats, with the separation (matched minus mismatched mean similarity).");
        command.AddOptions(pooling, prompt, queries, documents);
        shared.AddTo(command);

        command.SetAction(async (result, ct) =>
        {
            var layer = result.GetValue(shared.Layer);
            var explicitPoolings = result.GetValue(pooling) is { Length: > 0 } p ? CliOptions.SplitList(p) : null;
            var poolingNames = (explicitPoolings ?? DefaultPoolings).ToList();
            if (layer is not null && poolingNames.Contains("last-token-logits"))
            {
                if (explicitPoolings is not null)
                    throw new UsageException("--layer does not apply to last-token-logits pooling, which always reads the final layer.");
                poolingNames.Remove("last-token-logits");
                context.Note("skipping last-token-logits pooling: --layer does not apply to it.");
            }
            var promptNames = result.GetValue(prompt) is { Length: > 0 } f ? CliOptions.SplitList(f) : DefaultPrompts;
            var instruction = result.GetValue(shared.Instruction);
            CliOptions.CheckInstruction(instruction, promptNames);
            var strategies = poolingNames.Select(name => CliOptions.ParsePooling(name, layer)).ToList();
            var formats = promptNames.Select(name => CliOptions.ParsePrompt(name, instruction)).ToList();

            var queryTexts = result.GetValue(queries) is { Length: > 0 } q ? q : DefaultQueries;
            var documentTexts = result.GetValue(documents) is { Length: > 0 } d ? d : DefaultDocuments;
            if (queryTexts.Length != documentTexts.Length)
                throw new UsageException($"compare needs as many --document as --query values (got {queryTexts.Length} queries and {documentTexts.Length} documents); query i is matched with document i.");
            if (queryTexts.Length < 2)
                throw new UsageException("compare needs at least two query/document pairs: the separation compares matched with mismatched pairs.");
            var json = shared.IsJson(result);
            var directory = shared.ResolveModel(result, context);

            using var model = EmbeddingModel.Load(directory, new EmbeddingOptions(), shared.LoadOptions(result));
            if (model.Checkpoint.Layout != CheckpointLayout.CausalLM && strategies.Any(s => s is LastTokenLogitsPooling))
            {
                strategies.RemoveAll(s => s is LastTokenLogitsPooling);
                context.Note("skipping last-token-logits pooling: the checkpoint is a base model without an LM head.");
            }
            if (strategies.Count == 0)
                throw new CliRuntimeException("no pooling left to compare.");

            var total = strategies.Count * formats.Count * (queryTexts.Length + documentTexts.Length);
            var results = await EmbeddingProgressDisplay.RunAsync(context, "Comparing", total, async tracker =>
            {
                var list = new List<Result>();
                foreach (var strategy in strategies)
                foreach (var format in formats)
                {
                    using var view = model.WithOptions(shared.EmbeddingOptions(result, strategy, format, normalize: true));
                    var q = await view.EmbedAsync(queryTexts, TextRole.Query, tracker.Next(queryTexts.Length), ct).ConfigureAwait(false);
                    var d = await view.EmbedAsync(documentTexts, TextRole.Document, tracker.Next(documentTexts.Length), ct).ConfigureAwait(false);
                    var matrix = CosineSimilarity.Matrix(q.Select(e => e.Vector).ToArray(), d.Select(e => e.Vector).ToArray());
                    list.Add(new Result(strategy.Name, format.Name, matrix, Separation(matrix)));
                }
                return list;
            }).ConfigureAwait(false);

            if (json)
                WriteJson(context, results);
            else
                WriteTables(context, model, queryTexts, documentTexts, results);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Mean of the diagonal minus mean of the off-diagonal elements of a square matrix (n ≥ 2).</summary>
    public static double Separation(float[,] matrix)
    {
        var n = matrix.GetLength(0);
        double matched = 0, mismatched = 0;
        for (var i = 0; i < n; i++)
        for (var j = 0; j < n; j++)
        {
            if (i == j) matched += matrix[i, j];
            else mismatched += matrix[i, j];
        }
        return matched / n - mismatched / (n * (n - 1));
    }

    private static void WriteJson(CliContext context, IReadOnlyList<Result> results) =>
        JsonOutput.Write(context.Out, w =>
        {
            w.WriteStartArray("results");
            foreach (var r in results)
            {
                w.WriteStartObject();
                w.WriteString("pooling", r.Pooling);
                w.WriteString("prompt", r.Prompt);
                w.WriteStartArray("matrix");
                for (var i = 0; i < r.Matrix.GetLength(0); i++)
                {
                    w.WriteStartArray();
                    for (var j = 0; j < r.Matrix.GetLength(1); j++)
                        JsonOutput.WriteFloat(w, r.Matrix[i, j]);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                if (double.IsFinite(r.Separation)) w.WriteNumber("separation", r.Separation);
                else w.WriteString("separation", r.Separation.ToString(CultureInfo.InvariantCulture));
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });

    private static void WriteTables(CliContext context, EmbeddingModel model, string[] queries, string[] documents, IReadOnlyList<Result> results)
    {
        var console = context.CreateOutConsole();
        console.MarkupLine($"Cosine similarity, queries × documents — model [bold]{Markup.Escape(model.ModelId)}[/] ({Markup.Escape(model.Checkpoint.Directory)})");
        for (var j = 0; j < documents.Length; j++)
            console.MarkupLine($"  D{j + 1}: {TextFormat.Preview(documents[j], 100)}");
        console.WriteLine();

        var tables = new List<Table>();
        foreach (var r in results)
        {
            var table = new Table().Title($"[bold]{r.Pooling}[/] · {r.Prompt}");
            table.AddColumn("Query");
            for (var j = 0; j < documents.Length; j++)
                table.AddColumn(new TableColumn($"D{j + 1}").RightAligned());
            for (var i = 0; i < queries.Length; i++)
            {
                var cells = new List<string> { $"Q{i + 1}: {TextFormat.Preview(queries[i], 28)}" };
                for (var j = 0; j < documents.Length; j++)
                {
                    var value = TextFormat.Number(r.Matrix[i, j]);
                    cells.Add(i == j ? $"[bold]{value}[/]" : value);
                }
                table.AddRow(cells.ToArray());
            }
            table.Caption($"separation = {SignedNumber(r.Separation)}");
            tables.Add(table);
        }

        // Side by side when the terminal is wide enough, otherwise one below the other.
        var queryWidth = queries.Select((q, i) => $"Q{i + 1}: {TextFormat.Preview(q, 28)}".Length).Append("Query".Length).Max();
        var tableWidth = queryWidth + 4 + documents.Length * 9; // borders, padding and "±0.0000" cells
        if (tables.Count > 1 && context.StdoutIsTerminal && console.Profile.Width >= (tableWidth + 1) * tables.Count)
        {
            console.Write(new Columns(tables).Collapse());
            console.WriteLine();
        }
        else
            foreach (var table in tables)
            {
                console.Write(table);
                console.WriteLine();
            }

        var summary = new Table().Title("Separation: mean matched (diagonal) − mean mismatched (off-diagonal); higher separates better")
            .AddColumn("Pooling").AddColumn("Prompt").AddColumn(new TableColumn("Separation").RightAligned());
        foreach (var r in results)
            summary.AddRow(r.Pooling, r.Prompt, SignedNumber(r.Separation));
        console.Write(summary);
    }

    private static string SignedNumber(double value) =>
        (value >= 0 ? "+" : "") + value.ToString("F4", CultureInfo.InvariantCulture);
}
